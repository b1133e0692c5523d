"""A minimal stand-in for StackStorm's st2common, shipped with Attune.

Only what Python actions import is here: ``st2common.runners.base_action``
with ``Action`` and ``ActionService``. It is put on the action's PYTHONPATH
by Attune's python runner and installed nowhere else.
"""
