# Conveniences over the npm scripts, one target for each (`npm run db:setup`
# is `make db-setup`); `make help` lists them. The test database targets use
# scripts/test-db-setup.sh: set ATTUNE__DATABASE__URL or
# POSTGRES_HOST / POSTGRES_PORT / POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB
# to use a running server; without them the embedded PostgreSQL is used.

NPM ?= npm

.DEFAULT_GOAL := help
.PHONY: help test test-integration test-with-db test-coverage test-faults typecheck build bench \
	db-setup db-migrate db-status db-verify db-stop \
	db-test-setup db-test-create db-test-migrate db-test-drop db-test-reset db-test-clean db-test-verify db-test-status

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN { FS = ":.*## " } { printf "  %-18s %s\n", $$1, $$2 }'

test: ## run the whole test suite (starts its own embedded PostgreSQL unless ATTUNE__DATABASE__URL is set)
	$(NPM) test

test-integration: ## run the database, migration and CLI tests
	$(NPM) run test:integration

test-with-db: ## set up the test database, then run the suite against its server
	$(NPM) run test:with-db

test-coverage: ## run the suite with coverage
	$(NPM) run test:coverage

test-faults: ## the fault scenarios at full size (crashes, restarts, connection kills, an event storm)
	$(NPM) run test:faults

typecheck: ## type-check everything
	$(NPM) run typecheck

build: ## compile to dist/
	$(NPM) run build

bench: ## benchmarks, each against a hand-written baseline measured in the same run
	$(NPM) run bench

db-setup: ## check the connection, create the database if missing, migrate
	$(NPM) run db:setup

db-migrate: ## apply pending migrations
	$(NPM) run db:migrate

db-status: ## server, migrations, row count of every table
	$(NPM) run db:status

db-verify: ## check every table, foreign key and index is present
	$(NPM) run db:verify

db-stop: ## stop the embedded server a killed command left running
	$(NPM) run db:stop

db-test-setup: ## check the connection, create the test database if missing, migrate
	$(NPM) run db:test:setup

db-test-create: ## create the test database
	$(NPM) run db:test:create

db-test-migrate: ## apply pending migrations to the test database
	$(NPM) run db:test:migrate

db-test-drop: ## drop the test database
	$(NPM) run db:test:drop

db-test-reset: ## drop, create and migrate the test database
	$(NPM) run db:test:reset

db-test-clean: ## empty every table of the test database
	$(NPM) run db:test:clean

db-test-verify: ## check the test database against the schema manifest
	$(NPM) run db:test:verify

db-test-status: ## show the test database: server, migrations, row counts
	$(NPM) run db:test:status
