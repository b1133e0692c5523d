"""The base class of StackStorm-style Python actions, for Attune.

``Action`` gives an action what StackStorm gives it:

* ``self.config``: the pack's configuration (a dict, empty when the pack has none);
* ``self.logger``: a ``logging.Logger`` named after the action class, writing
  ``LEVEL name: message`` lines to stderr, at the level of the runner's
  ``log_level`` parameter;
* ``self.action_service``: an ``ActionService``. Attune does not give actions
  access to its key-value store through it yet: its datastore methods raise
  ``NotImplementedError`` naming the method; pass values in as parameters.
"""
import logging
import sys

__all__ = ["Action", "ActionService"]


class ActionService(object):
    """What StackStorm's action service offers, as far as Attune supports it."""

    def __init__(self, pack=None, class_name=None):
        self.pack = pack
        self.class_name = class_name

    def _unsupported(self, method):
        raise NotImplementedError(
            "action_service.%s is not available in Attune: the key-value store is not reachable from "
            "Python actions; pass the value in as a parameter instead" % method
        )

    def get_user_info(self):
        self._unsupported("get_user_info")

    def list_values(self, local=True, prefix=None):
        self._unsupported("list_values")

    def get_value(self, name, local=True, scope=None, decrypt=False):
        self._unsupported("get_value")

    def set_value(self, name, value, ttl=None, local=True, scope=None, encrypt=False):
        self._unsupported("set_value")

    def delete_value(self, name, local=True, scope=None):
        self._unsupported("delete_value")


def _make_logger(name):
    logger = logging.getLogger("actions." + name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    return logger


class Action(object):
    """Subclass this and implement ``run(self, **parameters)``."""

    description = None

    def __init__(self, config=None, action_service=None):
        self.config = config or {}
        self.action_service = action_service if action_service is not None else ActionService()
        self.logger = _make_logger(type(self).__name__)

    def run(self, **kwargs):
        raise NotImplementedError("%s must implement run()" % type(self).__name__)
