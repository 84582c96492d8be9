;; Tries to reach the clock through WASI's clock_time_get: the cage links no WASI, so the
;; module cannot be instantiated and the receipt says forbidden_import.
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "escape") (drop (call $clock_time_get (i32.const 0) (i64.const 0) (i32.const 0)))))
