;; A counter: `increment` adds one to the value stored under the key "count" and writes the
;; new value (8 bytes, little-endian) as its output.
(module
  (import "env" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "env" "state_set" (func $state_set (param i32 i32 i32 i32)))
  (import "env" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "count")
  (func (export "increment")
    (if (i32.lt_s (call $state_get (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8))
                  (i32.const 0))
      (then (i64.store (i32.const 16) (i64.const 0))))
    (i64.store (i32.const 16) (i64.add (i64.load (i32.const 16)) (i64.const 1)))
    (call $state_set (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8))
    (call $output_write (i32.const 16) (i32.const 8))))
