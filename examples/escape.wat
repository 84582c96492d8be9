;; An app that tries to get out of the cage, one way per function. Each run ends with a signed
;; receipt whose outcome says how the cage stopped it.
;;   clock      imports a clock (WASI clock_time_get)         -> forbidden_import
;;   entropy, files: imports WASI random_get / path_open     -> forbidden_import
;;   loop       loops forever                                  -> out_of_fuel
;;   allocate   grows memory until refused, then traps         -> out_of_memory
;;   recurse    recurses without bound                          -> stack_overflow
;; The imports make the whole module unlinkable, so the clock/entropy/files attempts live in
;; their own modules (escape_clock.wat, …); this one holds the three that link.
(module
  (memory (export "memory") 1)
  (func (export "loop") (loop $forever (br $forever)))
  (func (export "allocate")
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable)
  (func $recurse (export "recurse") (call $recurse)))
