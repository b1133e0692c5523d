"""examples.word_count: a StackStorm-style Python action.

The python runner imports the file, finds the Action subclass, and calls its
run() with the action's parameters as keyword arguments; what run() returns is
the execution's result.
"""
from st2common.runners.base_action import Action


class WordCount(Action):
    def run(self, text):
        return {
            "lines": len(text.splitlines()),
            "words": len(text.split()),
            "characters": len(text),
        }
