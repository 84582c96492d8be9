;; Tries to reach the entropy through WASI's random_get: the cage links no WASI, so the
;; module cannot be instantiated and the receipt says forbidden_import.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "escape") (drop (call $random_get (i32.const 0) (i64.const 0) (i32.const 0)))))
