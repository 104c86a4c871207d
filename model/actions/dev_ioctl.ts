/**
 * ioctl(2) on a device file — fs/ioctl.c: vfs_ioctl → file->f_op->unlocked_ioctl. KVM_CREATE_VM on
 * /dev/kvm… (virt/kvm/kvm_main.c: kvm_dev_ioctl_create_vm) creates a VM and registers its MMU
 * notifier on the caller's mm: nothing user space can observe of its memory changes (the
 * registration only waits for every page-table change in flight); ok. A device without the ioctl
 * (or a regular file) → -ENOTTY; no such file → -EBADF.
 */
import { fdOpen } from '../state.js';
import { EBADF, ENOTTY, ESRCH, OK, errno, type DevIoctlOp } from '../ops.js';
import type { Action } from '../action.js';

export const dev_ioctl: Action<DevIoctlOp> = {
  apply(s, op) {
    if (!s.processes[op.pid]) return { state: s, result: errno(ESRCH) };
    const f = s.files[op.file];
    if (!f || !fdOpen(s, op.pid, op.file)) return { state: s, result: errno(EBADF) };
    if (!op.file.startsWith('/dev/kvm') || op.cmd !== 'KVM_CREATE_VM') return { state: s, result: errno(ENOTTY) };
    return { state: s, result: OK };
  },
};
