/**
 * Kernel: virt/kvm/kvm_main.c (kvm_dev_ioctl, kvm_dev_ioctl_create_vm, kvm_create_vm,
 * kvm_init_mmu_notifier) — the part of KVM that reaches the mm: KVM_CREATE_VM on /dev/kvm
 * registers the VM's MMU notifier on the caller's mm (mmu_notifier_register → mmap_write_lock →
 * mm_take_all_locks: every VMA write-locked, every i_mmap and anon_vma lock taken), so that KVM's
 * secondary page tables hear of every change to the primary ones from then on.
 *
 * Left out: everything else of KVM — vCPUs, memslots, the notifier callbacks (invalidate_range_*
 * are not called by the simulated mm: mmu_notifier.ts), the VM file descriptor and its release
 * (kvm_destroy_vm → mmu_notifier_unregister: the VM lives until the end of the run), the
 * kvm_lock list of VMs, architecture init.
 */
import type { Task } from '../rt/task.js';
import { step } from '../rt/task.js';
import { k, current_mm } from '../sim/kernel.js';
import { sim_next_id, type file } from '../include/linux/mm_types.js';
import { mutex } from '../sync/mutex.js';
import type { mmu_notifier } from '../mm/mmu_notifier.js';

/** KVM_CREATE_VM = _IO(KVMIO, 0x01) (include/uapi/linux/kvm.h). */
export const KVM_CREATE_VM = 0xae01;
const EINVAL = 22;
const EIO = 5;

/** struct kvm: what the simulation keeps of a VM. */
export interface kvm {
  readonly name: string;
  readonly mm: import('../include/linux/mm_types.js').mm_struct;
  /** kvm->lock (the VM's mutex, not taken on the paths modelled). */
  readonly lock: mutex;
  /** kvm->mmu_notifier. */
  readonly mmu_notifier: mmu_notifier;
}

/**
 * kvm_init_mmu_notifier(kvm): mmu_notifier_register(&kvm->mmu_notifier, current->mm).
 * Locks: none on entry; the registration takes mmap_write_lock and all the mm's locks.
 */
export function* kvm_init_mmu_notifier(vm: kvm): Task<number> {
  return yield* k.fn.mmu_notifier_register(vm.mmu_notifier, vm.mm);
}

/**
 * kvm_create_vm(type, fdname): a VM bound to current->mm (mmgrab), its MMU notifier registered.
 * Returns the VM or -errno.
 */
export function* kvm_create_vm(type: number): Task<kvm | number> {
  if (type !== 0) return -EINVAL;
  const mm = current_mm();
  if (!mm) return -EIO;
  yield step('kvm_create_vm:kvm_arch_alloc_vm', mm);
  const id = sim_next_id();
  const vm: kvm = { name: `kvm#${id}`, mm, lock: new mutex(`kvm#${id}->lock`, 'kvm->lock'), mmu_notifier: { name: `kvm#${id}->mmu_notifier` } };
  k.fn.mmgrab(mm); // mmgrab(current->mm)
  const r = yield* k.fn.kvm_init_mmu_notifier(vm);
  if (r) {
    k.fn.mmdrop(mm);
    return r;
  }
  k.state('kvm_vms', () => [] as kvm[]).push(vm); // list_add(&kvm->vm_list, &vm_list)
  return vm;
}

/** kvm_dev_ioctl_create_vm(type): the new VM's file descriptor (a number ≥ 0), or -errno. */
export function* kvm_dev_ioctl_create_vm(type: number): Task<number> {
  const vm = yield* k.fn.kvm_create_vm(type);
  if (typeof vm === 'number') return vm;
  return 3; // fd_install: the descriptor itself is not modelled
}

/** kvm_dev_ioctl(filp, ioctl, arg): /dev/kvm's ioctls; only KVM_CREATE_VM. */
export function* kvm_dev_ioctl(f: file, ioctl: number, arg: number): Task<number> {
  void f;
  if (ioctl === KVM_CREATE_VM) return yield* k.fn.kvm_dev_ioctl_create_vm(arg);
  return -EINVAL;
}

/** The VMs created in this run (tests). */
export function sim_kvm_vms(): readonly kvm[] {
  return k.state('kvm_vms', () => [] as kvm[]);
}
