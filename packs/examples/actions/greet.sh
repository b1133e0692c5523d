#!/usr/bin/env bash
# examples.greet: the parameters arrive as positional arguments, in the order
# of their `position` (name, then greeting).
set -euo pipefail

name="${1:?usage: greet.sh NAME [GREETING]}"
greeting="${2:-Hello}"
printf '%s, %s!\n' "$greeting" "$name"
