"""StackStorm's runners package, as far as actions import it."""
