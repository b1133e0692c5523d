"""The base classes of StackStorm-style Python sensors, for Attune.

A sensor subclasses ``Sensor`` (``setup()``, then ``run()`` for as long as it
lives) or ``PollingSensor`` (``setup()``, then ``poll()`` every
``poll_interval`` seconds). ``self.sensor_service.dispatch(trigger, payload,
trace_tag)`` fires an event; ``self.config`` is the pack's configuration;
``self.sensor_service.get_logger(name)`` gives a logger writing to stderr.
Attune's sensor runner (attune_sensor_runner.py) builds the service and
calls the methods, as StackStorm's sensor container does.
"""
import abc

__all__ = ["Sensor", "PollingSensor"]


class BaseSensor(object, metaclass=abc.ABCMeta):
    def __init__(self, sensor_service, config=None):
        self._sensor_service = sensor_service
        self.sensor_service = sensor_service
        self._config = config or {}
        self.config = self._config

    @abc.abstractmethod
    def setup(self):
        """Runs once, before run() or the first poll()."""

    @abc.abstractmethod
    def run(self):
        """Runs for as long as the sensor lives."""

    @abc.abstractmethod
    def cleanup(self):
        """Runs when the sensor is stopped."""

    # StackStorm calls these when rules using the sensor's triggers change;
    # Attune does not (a sensor reads its parameters at start), so they are
    # optional for a sensor to implement.
    def add_trigger(self, trigger):
        pass

    def update_trigger(self, trigger):
        pass

    def remove_trigger(self, trigger):
        pass


class Sensor(BaseSensor):
    """A sensor that runs its own loop in run()."""


class PollingSensor(BaseSensor):
    """A sensor whose poll() is called every poll_interval seconds."""

    def __init__(self, sensor_service, config=None, poll_interval=5):
        super(PollingSensor, self).__init__(sensor_service=sensor_service, config=config)
        self._poll_interval = poll_interval

    @abc.abstractmethod
    def poll(self):
        """One look at the watched thing; dispatch what changed."""

    def run(self):
        # The runner drives polling itself (it sleeps between polls and stops
        # cleanly); run() is here for sensors that call it directly.
        raise NotImplementedError("Attune's sensor runner calls poll() every poll_interval seconds")

    def get_poll_interval(self):
        return self._poll_interval

    def set_poll_interval(self, poll_interval):
        self._poll_interval = poll_interval
