/**
 * Kernel: include/linux/mmdebug.h, include/asm-generic/bug.h — VM_BUG_ON and friends, live: each
 * raises a Violation at the step where it fires, with a report like the kernel's.
 */
import { Violation } from '../../rt/task.js';
import type { mm_struct, vm_area_struct } from './mm_types.js';

function vmaDump(vma: vm_area_struct): string[] {
  return [
    `vma ${vma.name} start ${hex(vma.vm_start)} end ${hex(vma.vm_end)} mm ${vma.vm_mm.name}`,
    `pgoff ${hex(vma.vm_pgoff)} flags ${hex(vma.vm_flags)} anon_vma ${vma.anon_vma?.name ?? '(null)'} ` +
      `vm_lock_seq ${vma.vm_lock_seq} mm_lock_seq ${vma.vm_mm.mm_lock_seq}`,
  ];
}
const hex = (n: number) => '0x' + n.toString(16);

/** BUG_ON(cond): property 'BUG'. */
export function BUG_ON(cond: boolean, what: string): void {
  if (cond) throw new Violation('BUG', `kernel BUG: ${what}`, [`kernel BUG at ${what}!`]);
}

/** VM_BUG_ON(cond) with CONFIG_DEBUG_VM: property 'VM_BUG_ON'. */
export function VM_BUG_ON(cond: boolean, what: string): void {
  if (cond) throw new Violation('VM_BUG_ON', `VM_BUG_ON: ${what}`, [`kernel BUG at ${what}!`]);
}

/** VM_BUG_ON_VMA(cond, vma): dumps the VMA like dump_vma(). */
export function VM_BUG_ON_VMA(cond: boolean, vma: vm_area_struct, what: string): void {
  if (cond) throw new Violation('VM_BUG_ON', `VM_BUG_ON_VMA: ${what} (${vma})`, [...vmaDump(vma), `kernel BUG at ${what}!`]);
}

/** VM_BUG_ON_MM(cond, mm). */
export function VM_BUG_ON_MM(cond: boolean, mm: mm_struct, what: string): void {
  if (cond) throw new Violation('VM_BUG_ON', `VM_BUG_ON_MM: ${what} (${mm.name})`, [`mm ${mm.name} mm_lock_seq ${mm.mm_lock_seq}`, `kernel BUG at ${what}!`]);
}

/** VM_WARN_ON_ONCE(cond): treated as a violation too (a warning is a bug report). */
export function VM_WARN_ON_ONCE(cond: boolean, what: string): boolean {
  if (cond) throw new Violation('VM_WARN_ON', `WARNING: ${what}`, [`WARNING: CPU: 0 at ${what}`]);
  return cond;
}

/** WARN_ON_ONCE(cond). */
export function WARN_ON_ONCE(cond: boolean, what: string): boolean {
  if (cond) throw new Violation('WARN_ON', `WARNING: ${what}`, [`WARNING: CPU: 0 at ${what}`]);
  return cond;
}
