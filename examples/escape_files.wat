;; Tries to reach the files through WASI's path_open: the cage links no WASI, so the
;; module cannot be instantiated and the receipt says forbidden_import.
(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "escape") (drop (call $path_open (i32.const 0) (i64.const 0) (i32.const 0)))))
