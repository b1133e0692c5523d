-- inquiries: what core.ask says about who should answer (StackStorm's inquiry
-- runner parameters): a route for rules to pick whom to notify, and the users
-- and roles allowed to respond (anyone when both are empty).
ALTER TABLE inquiries
  ADD COLUMN route TEXT NOT NULL DEFAULT '',
  ADD COLUMN users TEXT[] NOT NULL DEFAULT '{}',
  ADD COLUMN roles TEXT[] NOT NULL DEFAULT '{}',
  ADD CONSTRAINT inquiries_route_check CHECK (char_length(route) <= 255),
  ADD CONSTRAINT inquiries_users_check CHECK (cardinality(users) <= 1000),
  ADD CONSTRAINT inquiries_roles_check CHECK (cardinality(roles) <= 1000);
