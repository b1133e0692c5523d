"""Attune's Python sensor runner.

Runs one pack sensor for Attune's sensors role, in a process of its own.
The sensor is either:

* a StackStorm-style sensor class (``--class``), a subclass of
  ``st2reactor.sensor.base.Sensor`` or ``PollingSensor`` (Attune ships a small
  compatible ``st2reactor`` package next to this file). It is instantiated
  with a ``SensorService`` and the pack's config; ``setup()`` runs, then
  ``run()``, or ``poll()`` every poll interval for a polling sensor;
  ``cleanup()`` runs on SIGTERM or SIGINT;
* a plain script, run as ``__main__``; it writes the protocol's lines itself.

The protocol: one JSON object per line on stdout,
``{"trigger": "<ref>", "payload": {...}}``. ``sensor_service.dispatch``
writes those lines; anything the sensor prints goes to stderr instead, so a
print() cannot corrupt the stream.
"""
import argparse
import importlib.util
import inspect
import json
import logging
import os
import runpy
import signal
import sys
import threading
import time

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


class SensorService(object):
    """What StackStorm's sensor service offers, as far as Attune supports it."""

    def __init__(self, channel, pack, sensor_ref):
        self._channel = channel
        self._lock = threading.Lock()
        self.pack = pack
        self.sensor_ref = sensor_ref

    def dispatch(self, trigger, payload=None, trace_tag=None):
        """Fires an event of `trigger` (a ref; a bare name is taken as one of this pack's triggers)."""
        if isinstance(trigger, dict):
            trigger = trigger.get("ref") or "%s.%s" % (trigger.get("pack", self.pack), trigger.get("name"))
        if "." not in trigger:
            trigger = "%s.%s" % (self.pack, trigger)
        line = {"trigger": trigger, "payload": payload if payload is not None else {}}
        if trace_tag is not None:
            line["trace_id"] = str(trace_tag)
        data = json.dumps(line, default=str)
        with self._lock:
            self._channel.write(data + "\n")
            self._channel.flush()

    def dispatch_with_context(self, trigger, payload=None, trace_context=None):
        tag = getattr(trace_context, "trace_tag", None) if trace_context is not None else None
        self.dispatch(trigger, payload, tag)

    def get_logger(self, name):
        return logging.getLogger(name)

    def _unsupported(self, method):
        raise NotImplementedError(
            "sensor_service.%s is not available in Attune: the key-value store is not reachable from "
            "sensors yet; keep state in the sensor or pass values in as parameters" % method
        )

    def list_values(self, local=True, prefix=None):
        self._unsupported("list_values")

    def get_value(self, name, local=True, scope=None, decrypt=False):
        self._unsupported("get_value")

    def set_value(self, name, value, ttl=None, local=True, scope=None, encrypt=False):
        self._unsupported("set_value")

    def delete_value(self, name, local=True, scope=None):
        self._unsupported("delete_value")


def extend_sys_path(path, pack_dir):
    """The sensor's folder and the pack's lib folder, as StackStorm puts them on sys.path."""
    folders = [os.path.dirname(os.path.abspath(path))]
    if pack_dir:
        folders.append(os.path.join(pack_dir, "lib"))
    for folder in reversed(folders):
        if os.path.isdir(folder) and folder not in sys.path:
            sys.path.insert(0, folder)


def load_sensor_class(path, class_name):
    from st2reactor.sensor.base import BaseSensor

    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    found = getattr(module, class_name, None)
    if not inspect.isclass(found) or not issubclass(found, BaseSensor):
        raise SystemExit("%s defines no sensor class %s (a subclass of st2reactor.sensor.base.Sensor or PollingSensor)" % (path, class_name))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True)
    parser.add_argument("--pack", required=True)
    parser.add_argument("--pack-dir")
    parser.add_argument("--config-file")
    parser.add_argument("--class", dest="class_name")
    parser.add_argument("--poll-interval", type=float, default=None)
    args = parser.parse_args()

    # The protocol owns stdout; whatever the sensor prints goes to stderr.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=LOG_FORMAT)
    extend_sys_path(args.file, args.pack_dir)
    config = {}
    if args.config_file:
        with open(args.config_file, encoding="utf-8") as handle:
            config = json.load(handle)

    if not args.class_name:
        sys.argv = [args.file]
        runpy.run_path(args.file, run_name="__main__")
        return

    from st2reactor.sensor.base import PollingSensor

    sensor_class = load_sensor_class(args.file, args.class_name)
    service = SensorService(channel, args.pack, os.environ.get("ATTUNE_SENSOR_REF"))
    polling = issubclass(sensor_class, PollingSensor)
    if polling:
        interval = args.poll_interval if args.poll_interval is not None else 5
        sensor = sensor_class(sensor_service=service, config=config, poll_interval=interval)
    else:
        sensor = sensor_class(sensor_service=service, config=config)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
        try:
            sensor.cleanup()
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sensor.setup()
    if not polling:
        sensor.run()
        return
    while not stop.is_set():
        started = time.monotonic()
        sensor.poll()
        stop.wait(max(0.0, sensor.get_poll_interval() - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
