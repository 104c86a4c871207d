/**
 * The bug zoo: one mutant per file, each a variant that reverts one real kernel fix (or builds one
 * unsafe design from the article), in the generation where the bug lived.
 */
import type { Variant } from '../sim/variant.js';
import b6 from './b6-stackrot.js';
import b7 from './b7-stack-expansion.js';
import b9 from './b9-new-vma-visible.js';
import b10 from './b10-anon-vma-check.js';
import b8Fork from './b8-fork.js';
import b17SwapinAba from './b17-swapin-aba.js';
import ioNoRevalidate from './io-no-revalidate.js';
import smapsNoMmapLock from './smaps-no-mmap-lock.js';
import locklessFaultNoRecheck from './lockless-fault-no-recheck.js';
import b14Mempolicy from './b14-mempolicy.js';
import driverNeedsMmapLock from './driver-needs-mmap-lock.js';
import b22UffdCopyEvents from './b22-uffd-copy-events.js';
import b26UffdVmFlags from './b26-uffd-vm-flags.js';
import uffdBlockHoldingVmaLock from './uffd-block-holding-vma-lock.js';
import swapoffRace from './swapoff-race.js';

export const MUTANTS: readonly Variant[] = [
  b6,
  b7,
  b9,
  b10,
  b8Fork,
  b17SwapinAba,
  ioNoRevalidate,
  smapsNoMmapLock,
  locklessFaultNoRecheck,
  b14Mempolicy,
  driverNeedsMmapLock,
  b22UffdCopyEvents,
  b26UffdVmFlags,
  uffdBlockHoldingVmaLock,
  swapoffRace,
];
