# SPDX-License-Identifier: GPL-2.0-only
# The freestanding payload runtime and the payload images built with it.
.PHONY: payloads
payloads:
