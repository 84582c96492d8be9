;; A hash chain without a hash function of its own: `extend` mixes the input into the head
;; (FNV-1a, 64-bit) and stores the new head under "head", so every link depends on all before.
(module
  (import "env" "input_len" (func $input_len (result i32)))
  (import "env" "input_read" (func $input_read (param i32)))
  (import "env" "output_write" (func $output_write (param i32 i32)))
  (import "env" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "env" "state_set" (func $state_set (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "head")
  (func (export "extend")
    (local $h i64) (local $i i32) (local $n i32)
    (if (i32.lt_s (call $state_get (i32.const 0) (i32.const 4) (i32.const 8) (i32.const 8))
                  (i32.const 0))
      (then (i64.store (i32.const 8) (i64.const 0xcbf29ce484222325))))
    (local.set $h (i64.load (i32.const 8)))
    (local.set $n (call $input_len))
    (call $input_read (i32.const 64))
    (block $done
      (loop $mix
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $h (i64.mul
          (i64.xor (local.get $h) (i64.extend_i32_u (i32.load8_u (i32.add (i32.const 64) (local.get $i)))))
          (i64.const 0x100000001b3)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $mix)))
    (i64.store (i32.const 8) (local.get $h))
    (call $state_set (i32.const 0) (i32.const 4) (i32.const 8) (i32.const 8))
    (call $output_write (i32.const 8) (i32.const 8))))
