/** Kernel: (to be written) */
export {};
