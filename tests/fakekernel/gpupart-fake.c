/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpupart over the fake kernel: the real verbs, every write answered by tests/fakekernel. */
#include "cli.h"
#include "fake-kernel.h"

int main(int argc, char **argv)
{
	return gp_cli_main(argc, argv, fk_install);
}
