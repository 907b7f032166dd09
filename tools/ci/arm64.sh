#!/bin/bash
# SPDX-License-Identifier: MIT
# CI stage "arm64": tools/ci/cross.sh for arm64 (kept for those who run it by name).
exec bash "$(dirname "${BASH_SOURCE[0]}")/cross.sh" arm64 "$@"
