# SPDX-License-Identifier: GPL-2.0-only
# The host shim: libpvhc.a and the pvhc command.
.PHONY: host
host:
