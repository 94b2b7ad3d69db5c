#!/bin/sh
# PID 1 of the test guest (busybox ash).  Runs exactly one case, named by kt.case= on
# the kernel command line, then carries /out to the host over the second serial port
# and powers off.  The host decides pass/fail from what arrives; this script only
# reports.
export PATH=/bin
# ldd paths from the host are kept verbatim; the loader has no ld.so.cache here.
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

case=$(sed -n 's/.*kt\.case=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ "$case" = probe ]; then
	# Accelerator probe: reaching userspace is all the host wants to see.
	echo KT-PROBE-OK
	poweroff -f
fi
echo "KT: userspace at $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), case '$case'"

# busybox insmod ignores module options on the kernel command line; none are needed
# here, and cases that want one write /sys/module/*/parameters/*.
kv=$(cat /etc/kernel-version)
while read -r m; do
	insmod "/lib/modules/$kv/$m" 2>/tmp/insmod.err || echo "KT: insmod $m FAILED: $(cat /tmp/insmod.err)"
done </etc/modules.order

# nvme probes asynchronously; cases expect the SR-IOV PF to be bound when they start.
i=0
while [ $i -lt 50 ] && ! ls /sys/bus/pci/drivers/nvme/ 2>/dev/null | grep -q '^0000:'; do
	sleep 0.1; i=$((i + 1))
done

. /kt/lib.sh
kt_main "$case"

# The data channel: a base64 tar.gz of /out between markers on ttyS1, which carries
# nothing else (kernel messages only go to ttyS0).  -opost keeps "\n" from becoming
# "\r\n"; closing the tty waits until the UART has drained.
stty -F /dev/ttyS1 -opost 2>/dev/null
{
	echo KT-DATA-BEGIN
	tar -czf - -C /out . | base64
	echo KT-DATA-END
} >/dev/ttyS1
sync
echo "KT: powering off at $(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
