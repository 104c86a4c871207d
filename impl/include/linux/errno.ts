/** Kernel: include/uapi/asm-generic/errno-base.h, errno.h — returned negated, as the kernel does. */
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ESRCH = 3;
export const EACCES = 13;
