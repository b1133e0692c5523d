"""A minimal stand-in for StackStorm's st2reactor package: enough for pack sensors to import their base classes under Attune."""
