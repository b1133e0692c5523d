"""Attune's Python action runner shim.

Runs one Python action file for Attune's `python` runner, in a process of its
own. Parameters arrive as one JSON object on stdin. The file is either:

* a StackStorm-style action: it defines a subclass of
  ``st2common.runners.base_action.Action`` (Attune ships a small compatible
  ``st2common`` package next to this file). The class is instantiated with
  the pack's config and its ``run(**parameters)`` is called. A returned
  ``(bool, result)`` tuple sets success or failure; any other value is the
  result. An exception fails the run, with its traceback on stderr.
* a plain script: it is run as ``__main__`` with stdin holding the
  parameters, exactly as ``python3 file.py < parameters.json`` would.

The outcome goes to file descriptor 3 as one JSON object, never to stdout,
so whatever the action prints cannot corrupt it.
"""
import argparse
import ast
import importlib.util
import inspect
import io
import json
import os
import runpy
import sys
import traceback

RESULT_FD = 3
INVALID_STATUS_EXIT_CODE = 220


def write_outcome(outcome):
    try:
        data = json.dumps(outcome)
    except (TypeError, ValueError):
        # A result Python cannot express in JSON (an object, a set) is kept as its text, as StackStorm does.
        outcome = dict(outcome, result=str(outcome.get("result")))
        data = json.dumps(outcome)
    try:
        with os.fdopen(RESULT_FD, "w", encoding="utf-8", closefd=True) as channel:
            channel.write(data)
    except OSError:
        # Run by hand, without the result channel: the outcome goes to stderr.
        sys.stderr.write(data + "\n")


def defines_action_class(path):
    """True when the file imports StackStorm's Action base or subclasses something named Action."""
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError:
        # Let the import report the syntax error with its usual message.
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("st2common.runners.base_action"):
            return True
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
                if name == "Action":
                    return True
    return False


def extend_sys_path(path, pack_dir):
    """The action's folder, the pack's actions/lib and lib folders, as StackStorm puts them on sys.path."""
    folders = [os.path.dirname(os.path.abspath(path))]
    if pack_dir:
        folders.append(os.path.join(pack_dir, "actions", "lib"))
        folders.append(os.path.join(pack_dir, "lib"))
    for folder in reversed(folders):
        if os.path.isdir(folder) and folder not in sys.path:
            sys.path.insert(0, folder)


def load_action_class(path):
    from st2common.runners.base_action import Action

    module_name = "attune_action_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    classes = [
        member
        for _, member in inspect.getmembers(module, inspect.isclass)
        if issubclass(member, Action) and member is not Action and member.__module__ == module_name
    ]
    if not classes:
        raise RuntimeError('file "%s" has no Action subclass' % path)
    return classes[0]


def run_action(path, pack, parameters, config, log_level):
    from st2common.runners.base_action import ActionService

    action_class = load_action_class(path)
    service = ActionService(pack=pack, class_name=action_class.__name__)
    try:
        action = action_class(config=config, action_service=service)
    except TypeError:
        # Actions written before action_service existed take config only.
        action = action_class(config=config)
        action.action_service = service
    action.logger.setLevel(log_level)
    output = action.run(**parameters)
    status = None
    result = output
    if isinstance(output, tuple) and len(output) == 2:
        status, result = output
        if not isinstance(status, bool):
            sys.stderr.write(
                "The status returned by run() must be True or False, got %r. Return a list instead "
                "of a two-item tuple, or a (status, result) tuple.\n" % (status,)
            )
            sys.exit(INVALID_STATUS_EXIT_CODE)
    write_outcome({"mode": "action", "status": status, "result": result})


def run_script(path, parameters_text):
    write_outcome({"mode": "script"})
    sys.stdin = io.TextIOWrapper(io.BytesIO(parameters_text.encode("utf-8")), encoding="utf-8")
    sys.argv = [path]
    runpy.run_path(path, run_name="__main__")


def main():
    parser = argparse.ArgumentParser(description="Attune's Python action runner")
    parser.add_argument("--file", required=True, help="the action file")
    parser.add_argument("--pack", required=True, help="the pack's ref")
    parser.add_argument("--pack-dir", default="", help="the pack's folder")
    parser.add_argument("--config-file", default="", help="the pack's config as JSON")
    parser.add_argument("--log-level", default="DEBUG", help="lowest level the action's logger writes")
    args = parser.parse_args()

    parameters_text = sys.stdin.read()
    parameters = json.loads(parameters_text) if parameters_text.strip() else {}
    config = {}
    if args.config_file:
        with open(args.config_file, encoding="utf-8") as handle:
            config = json.load(handle)

    extend_sys_path(args.file, args.pack_dir)
    level = args.log_level.upper()
    if level == "AUDIT":
        level = "INFO"
    if defines_action_class(args.file):
        run_action(args.file, args.pack, parameters, config, level)
    else:
        run_script(args.file, parameters_text)


if __name__ == "__main__":
    # This folder (for st2common) stays on sys.path; the shim itself is not an importable module for actions.
    try:
        main()
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
