/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `gpupart capture FILE.tar`: the host as gpupart sees it, for bug reports and tests. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpupart/capture.h>

#include "cli.h"

/*
 * FILE must leave room for its temporary sibling (FILE.tmp.XXXXXX): a name too long for that,
 * or with any component longer than NAME_MAX, is a usage error (exit 2), said before the scan.
 */
static int check_name_length(const char *file)
{
	static const size_t suffix = sizeof(".tmp.XXXXXX") - 1;
	const char *p = file, *slash;

	if (strcmp(file, "-") == 0)
		return 0;
	if (strlen(file) + suffix >= PATH_MAX)
		goto too_long;
	for (;; p = slash + 1) {
		slash = strchr(p, '/');
		if (!slash)
			break;
		if ((size_t)(slash - p) > NAME_MAX)
			goto too_long;
	}
	if (strlen(p) + suffix > NAME_MAX)
		goto too_long;
	return 0;
too_long:
	gp_cli_err("%s: name too long (the capture is written beside it as FILE.tmp.XXXXXX, "
		   "each component at most %d bytes)",
		   file, NAME_MAX);
	return -ENAMETOOLONG;
}

/*
 * A FILE that exists and is not a plain regular file is written into, never renamed over:
 * `capture /dev/stdout` as root would otherwise replace the host's /dev/stdout (a link) with
 * the tar, and a device node or a FIFO with a file. A link is written through (truncating a
 * regular target, as the shell's > does); a FIFO or a character device gets the stream; a
 * directory or a block device (a disk) is refused. Returns an exit status, or -ENOENT when
 * FILE is absent or a regular file: then the atomic write beside it.
 */
static int capture_into_existing(struct gp_cli *cli, const struct gp_host *h, const char *file)
{
	struct stat lst, st;
	int fd, r;

	if (lstat(file, &lst) < 0 || S_ISREG(lst.st_mode))
		return -ENOENT;
	if (stat(file, &st) < 0) {
		gp_cli_err("%s: %s", file, strerror(errno));
		return EXIT_FAIL;
	}
	if (S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) {
		gp_cli_err("%s: refusing to write a capture onto %s", file,
			   S_ISDIR(st.st_mode) ? "a directory" : "a block device");
		return EXIT_FAIL;
	}
	fd = open(file, O_WRONLY | O_NOCTTY | O_CLOEXEC | (S_ISREG(st.st_mode) ? O_TRUNC : 0));
	if (fd < 0) {
		gp_cli_err("%s: %s", file, strerror(errno));
		return EXIT_FAIL;
	}
	r = gp_capture_write(cli->ctx, h, fd);
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r < 0) {
		gp_cli_err("%s: %s", file, strerror(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_capture(struct gp_cli *cli, int argc, char **argv)
{
	const char *file = argv[0];
	char tmp[4096];
	struct gp_host *h = NULL;
	int fd, r;

	(void)argc;
	if (check_name_length(file) < 0)
		return EXIT_USAGE;
	/* SR-IOV functions of every class go in, so --any-class works on the capture too */
	r = gp_host_scan(cli->ctx, GP_SCAN_ANY_CLASS, NULL, 0, &h);
	if (r < 0)
		return gp_cli_scan_exit(r);
	if (strcmp(file, "-") == 0) {
		r = gp_capture_write(cli->ctx, h, STDOUT_FILENO);
		gp_host_free(h);
		if (r < 0)
			gp_cli_err("capture: %s", strerror(-r));
		return r < 0 ? EXIT_FAIL : EXIT_OK;
	}
	r = capture_into_existing(cli, h, file);
	if (r != -ENOENT) {
		gp_host_free(h);
		return r;
	}
	/* write beside the target and rename: a failed capture leaves no half file */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", file) >= (int)sizeof(tmp)) {
		gp_host_free(h);
		gp_cli_err("%s: name too long", file);
		return EXIT_USAGE;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		r = -errno;
		gp_host_free(h);
		gp_cli_err("%s: %s", file, strerror(-r));
		return EXIT_FAIL;
	}
	r = gp_capture_write(cli->ctx, h, fd);
	gp_host_free(h);
	if (r >= 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, file) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		gp_cli_err("%s: %s", file, strerror(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
