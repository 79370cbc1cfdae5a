;; Dense-layer kernels for MlpTrainer (mlp-train.ts) and compress's TunableMlp (compress/net.ts): 128-bit SIMD (f32x4), baseline wasm SIMD only
;; (Node 20 has no relaxed SIMD, so no fused multiply-add: mul then add, like the JS path).
;;
;; Conventions: pointers are byte offsets into the imported memory, dimensions and leading
;; dimensions (ld*) are counts of f32. Matrices are row-major. Every matrix a kernel reads or writes
;; as vectors has a row length (leading dimension) that is a multiple of 4 and 16-byte aligned rows;
;; the loader pads the widths (mlp-wasm.ts) and keeps the padding zero, so padded columns only ever
;; produce padded (zero) outputs and never reach a real one.
;;
;; Rebuild: the unit test test/distill/mlp-wasm.test.ts recompiles this file with wabt and checks the
;; committed mlp.wasm is byte-identical (see kernels/build.ts).
(module
  (import "env" "memory" (memory 1))

  ;; C[r][n] = bias[n] + sum_{k<K} A[r][k] * M[k][n] for r < rows, n < N (N % 4 == 0); max(., 0)
  ;; when relu != 0; bias == 0 means no bias. The forward pass (A = x, M = W^T) and the input
  ;; gradient (A = dz, M = W) are both this product. Register tile: 4 rows x 8 columns (8
  ;; accumulators; per k 2 vector loads and 4 splat loads feed 8 multiply-adds).
  (func (export "gemm_nn")
    (param $a i32) (param $lda i32) (param $m i32) (param $ldm i32) (param $c i32) (param $ldc i32)
    (param $rows i32) (param $K i32) (param $N i32) (param $bias i32) (param $relu i32)
    (local $r i32) (local $n i32) (local $k i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $pm i32) (local $pc i32)
    (local $b0 v128) (local $b1 v128) (local $w0 v128) (local $w1 v128) (local $x v128) (local $zero v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $lda (i32.shl (local.get $lda) (i32.const 2)))
    (local.set $ldm (i32.shl (local.get $ldm) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $zero (v128.const i32x4 0 0 0 0))
    ;; Tiles of 4 rows.
    (local.set $r (i32.const 0))
    (block $rows4_done
      (loop $rows4
        (br_if $rows4_done (i32.gt_s (i32.add (local.get $r) (i32.const 4)) (local.get $rows)))
        (local.set $n (i32.const 0))
        ;; 8 columns at a time.
        (block $n8_done
          (loop $n8
            (br_if $n8_done (i32.gt_s (i32.add (local.get $n) (i32.const 8)) (local.get $N)))
            (if (local.get $bias)
              (then
                (local.set $b0 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $n) (i32.const 2)))))
                (local.set $b1 (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $n) (i32.const 2))))))
              (else
                (local.set $b0 (local.get $zero))
                (local.set $b1 (local.get $zero))))
            (local.set $c00 (local.get $b0)) (local.set $c01 (local.get $b1))
            (local.set $c10 (local.get $b0)) (local.set $c11 (local.get $b1))
            (local.set $c20 (local.get $b0)) (local.set $c21 (local.get $b1))
            (local.set $c30 (local.get $b0)) (local.set $c31 (local.get $b1))
            (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $lda))))
            (local.set $pa1 (i32.add (local.get $pa0) (local.get $lda)))
            (local.set $pa2 (i32.add (local.get $pa1) (local.get $lda)))
            (local.set $pa3 (i32.add (local.get $pa2) (local.get $lda)))
            (local.set $pm (i32.add (local.get $m) (i32.shl (local.get $n) (i32.const 2))))
            (local.set $k (local.get $K))
            (block $k_done
              (br_if $k_done (i32.le_s (local.get $k) (i32.const 0)))
              (loop $kloop
                (local.set $w0 (v128.load (local.get $pm)))
                (local.set $w1 (v128.load offset=16 (local.get $pm)))
                (local.set $x (v128.load32_splat (local.get $pa0)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $w0))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $w1))))
                (local.set $x (v128.load32_splat (local.get $pa1)))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $w0))))
                (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $w1))))
                (local.set $x (v128.load32_splat (local.get $pa2)))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $w0))))
                (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $w1))))
                (local.set $x (v128.load32_splat (local.get $pa3)))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $w0))))
                (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $w1))))
                (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
                (local.set $pa1 (i32.add (local.get $pa1) (i32.const 4)))
                (local.set $pa2 (i32.add (local.get $pa2) (i32.const 4)))
                (local.set $pa3 (i32.add (local.get $pa3) (i32.const 4)))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldm)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br_if $kloop (local.get $k))))
            (if (local.get $relu)
              (then
                (local.set $c00 (f32x4.max (local.get $c00) (local.get $zero)))
                (local.set $c01 (f32x4.max (local.get $c01) (local.get $zero)))
                (local.set $c10 (f32x4.max (local.get $c10) (local.get $zero)))
                (local.set $c11 (f32x4.max (local.get $c11) (local.get $zero)))
                (local.set $c20 (f32x4.max (local.get $c20) (local.get $zero)))
                (local.set $c21 (f32x4.max (local.get $c21) (local.get $zero)))
                (local.set $c30 (f32x4.max (local.get $c30) (local.get $zero)))
                (local.set $c31 (f32x4.max (local.get $c31) (local.get $zero)))))
            (local.set $pc (i32.add (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $ldc))) (i32.shl (local.get $n) (i32.const 2))))
            (v128.store (local.get $pc) (local.get $c00))
            (v128.store offset=16 (local.get $pc) (local.get $c01))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c10))
            (v128.store offset=16 (local.get $pc) (local.get $c11))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c20))
            (v128.store offset=16 (local.get $pc) (local.get $c21))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c30))
            (v128.store offset=16 (local.get $pc) (local.get $c31))
            (local.set $n (i32.add (local.get $n) (i32.const 8)))
            (br $n8)))
        ;; The last 4 columns when N % 8 == 4.
        (if (i32.lt_s (local.get $n) (local.get $N))
          (then
            (if (local.get $bias)
              (then (local.set $b0 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $n) (i32.const 2))))))
              (else (local.set $b0 (local.get $zero))))
            (local.set $c00 (local.get $b0))
            (local.set $c10 (local.get $b0))
            (local.set $c20 (local.get $b0))
            (local.set $c30 (local.get $b0))
            (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $lda))))
            (local.set $pa1 (i32.add (local.get $pa0) (local.get $lda)))
            (local.set $pa2 (i32.add (local.get $pa1) (local.get $lda)))
            (local.set $pa3 (i32.add (local.get $pa2) (local.get $lda)))
            (local.set $pm (i32.add (local.get $m) (i32.shl (local.get $n) (i32.const 2))))
            (local.set $k (local.get $K))
            (block $k4_done
              (br_if $k4_done (i32.le_s (local.get $k) (i32.const 0)))
              (loop $k4
                (local.set $w0 (v128.load (local.get $pm)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (v128.load32_splat (local.get $pa0)) (local.get $w0))))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (v128.load32_splat (local.get $pa1)) (local.get $w0))))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (v128.load32_splat (local.get $pa2)) (local.get $w0))))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (v128.load32_splat (local.get $pa3)) (local.get $w0))))
                (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
                (local.set $pa1 (i32.add (local.get $pa1) (i32.const 4)))
                (local.set $pa2 (i32.add (local.get $pa2) (i32.const 4)))
                (local.set $pa3 (i32.add (local.get $pa3) (i32.const 4)))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldm)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br_if $k4 (local.get $k))))
            (if (local.get $relu)
              (then
                (local.set $c00 (f32x4.max (local.get $c00) (local.get $zero)))
                (local.set $c10 (f32x4.max (local.get $c10) (local.get $zero)))
                (local.set $c20 (f32x4.max (local.get $c20) (local.get $zero)))
                (local.set $c30 (f32x4.max (local.get $c30) (local.get $zero)))))
            (local.set $pc (i32.add (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $ldc))) (i32.shl (local.get $n) (i32.const 2))))
            (v128.store (local.get $pc) (local.get $c00))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c10))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c20))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c30))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rows4)))
    ;; The last rows % 4 rows, one at a time, 4 columns at a time.
    (block $rows1_done
      (loop $rows1
        (br_if $rows1_done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $n (i32.const 0))
        (block $n4_done
          (loop $n4
            (br_if $n4_done (i32.ge_s (local.get $n) (local.get $N)))
            (if (local.get $bias)
              (then (local.set $c00 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $n) (i32.const 2))))))
              (else (local.set $c00 (local.get $zero))))
            (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $lda))))
            (local.set $pm (i32.add (local.get $m) (i32.shl (local.get $n) (i32.const 2))))
            (local.set $k (local.get $K))
            (block $k1_done
              (br_if $k1_done (i32.le_s (local.get $k) (i32.const 0)))
              (loop $k1
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (v128.load32_splat (local.get $pa0)) (v128.load (local.get $pm)))))
                (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldm)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br_if $k1 (local.get $k))))
            (if (local.get $relu)
              (then (local.set $c00 (f32x4.max (local.get $c00) (local.get $zero)))))
            (v128.store
              (i32.add (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $ldc))) (i32.shl (local.get $n) (i32.const 2)))
              (local.get $c00))
            (local.set $n (i32.add (local.get $n) (i32.const 4)))
            (br $n4)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows1))))

  ;; C[i][j] = sum_{k<K} A[k][i] * M[k][j] for i < rows (rows % 4 == 0), j < N (N % 4 == 0): the
  ;; weight gradient dz^T x (or its transpose x^T dz) summed over the batch k. Register tile 4 x 8;
  ;; the 4 values of A's row k are splat from consecutive addresses (constant offsets).
  (func (export "gemm_tn")
    (param $a i32) (param $lda i32) (param $m i32) (param $ldm i32) (param $c i32) (param $ldc i32)
    (param $rows i32) (param $K i32) (param $N i32)
    (local $i i32) (local $j i32) (local $k i32) (local $pa i32) (local $pm i32) (local $pc i32)
    (local $w0 v128) (local $w1 v128) (local $x v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $lda (i32.shl (local.get $lda) (i32.const 2)))
    (local.set $ldm (i32.shl (local.get $ldm) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $i_done
      (loop $iloop
        (br_if $i_done (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $j8_done
          (loop $j8
            (br_if $j8_done (i32.gt_s (i32.add (local.get $j) (i32.const 8)) (local.get $N)))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $pa (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $pm (i32.add (local.get $m) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $k (local.get $K))
            (block $k_done
              (br_if $k_done (i32.le_s (local.get $k) (i32.const 0)))
              (loop $kloop
                (local.set $w0 (v128.load (local.get $pm)))
                (local.set $w1 (v128.load offset=16 (local.get $pm)))
                (local.set $x (v128.load32_splat (local.get $pa)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $w0))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $w1))))
                (local.set $x (v128.load32_splat offset=4 (local.get $pa)))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $w0))))
                (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $w1))))
                (local.set $x (v128.load32_splat offset=8 (local.get $pa)))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $w0))))
                (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $w1))))
                (local.set $x (v128.load32_splat offset=12 (local.get $pa)))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $w0))))
                (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $w1))))
                (local.set $pa (i32.add (local.get $pa) (local.get $lda)))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldm)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br_if $kloop (local.get $k))))
            (local.set $pc (i32.add (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 2))))
            (v128.store (local.get $pc) (local.get $c00))
            (v128.store offset=16 (local.get $pc) (local.get $c01))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c10))
            (v128.store offset=16 (local.get $pc) (local.get $c11))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c20))
            (v128.store offset=16 (local.get $pc) (local.get $c21))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c30))
            (v128.store offset=16 (local.get $pc) (local.get $c31))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $j8)))
        ;; The last 4 columns when N % 8 == 4.
        (if (i32.lt_s (local.get $j) (local.get $N))
          (then
            (local.set $c00 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0))
            (local.set $pa (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $pm (i32.add (local.get $m) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $k (local.get $K))
            (block $k4_done
              (br_if $k4_done (i32.le_s (local.get $k) (i32.const 0)))
              (loop $k4
                (local.set $w0 (v128.load (local.get $pm)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (v128.load32_splat (local.get $pa)) (local.get $w0))))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (v128.load32_splat offset=4 (local.get $pa)) (local.get $w0))))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (v128.load32_splat offset=8 (local.get $pa)) (local.get $w0))))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (v128.load32_splat offset=12 (local.get $pa)) (local.get $w0))))
                (local.set $pa (i32.add (local.get $pa) (local.get $lda)))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldm)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br_if $k4 (local.get $k))))
            (local.set $pc (i32.add (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 2))))
            (v128.store (local.get $pc) (local.get $c00))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c10))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c20))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (local.get $c30))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $iloop))))

  ;; out[n] = sum_{r<rows} A[r][n] for n < N (N % 4 == 0): the bias gradient.
  (func (export "colsum") (param $a i32) (param $lda i32) (param $rows i32) (param $N i32) (param $out i32)
    (local $n i32) (local $r i32) (local $p i32) (local $acc v128)
    (local.set $lda (i32.shl (local.get $lda) (i32.const 2)))
    (local.set $n (i32.const 0))
    (block $n_done
      (loop $nloop
        (br_if $n_done (i32.ge_s (local.get $n) (local.get $N)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $r (local.get $rows))
        (block $r_done
          (br_if $r_done (i32.le_s (local.get $r) (i32.const 0)))
          (loop $rloop
            (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $lda)))
            (local.set $r (i32.sub (local.get $r) (i32.const 1)))
            (br_if $rloop (local.get $r))))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))) (local.get $acc))
        (local.set $n (i32.add (local.get $n) (i32.const 4)))
        (br $nloop))))

  ;; relu backward on float bits, like reluMaskBits in mlp-train.ts: relu outputs are +0 or
  ;; positive, so (y | -y) >> 31 is all ones exactly when y > 0. n % 4 == 0.
  (func (export "relu_mask") (param $d i32) (param $y i32) (param $n i32)
    (local $end i32) (local $v v128)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
        (local.set $v (v128.load (local.get $y)))
        (v128.store (local.get $d)
          (v128.and (v128.load (local.get $d))
            (i32x4.shr_s (v128.or (local.get $v) (i32x4.neg (local.get $v))) (i32.const 31))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $l))))

  ;; tanh backward from the stored output: d *= 1 - y * y. n % 4 == 0.
  (func (export "tanh_grad") (param $d i32) (param $y i32) (param $n i32)
    (local $end i32) (local $v v128)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
        (local.set $v (v128.load (local.get $y)))
        (v128.store (local.get $d)
          (f32x4.mul (v128.load (local.get $d))
            (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $v) (local.get $v)))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $l))))

  ;; dst[r][c] = src[r][c] for r < rows, c < cols with row strides lds and ldd (any widths): moves
  ;; rows between the callers' dense layout and the padded one. Leaves dst's padding alone.
  (func (export "copy_rows") (param $src i32) (param $lds i32) (param $rows i32) (param $cols i32) (param $dst i32) (param $ldd i32)
    (local $r i32) (local $c i32) (local $ps i32) (local $pd i32)
    (local.set $lds (i32.shl (local.get $lds) (i32.const 2)))
    (local.set $ldd (i32.shl (local.get $ldd) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $r_done
      (loop $rloop
        (br_if $r_done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $ps (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $lds))))
        (local.set $pd (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $ldd))))
        (local.set $c (i32.const 0))
        ;; 4 values at a time (unaligned v128 load/store), then one at a time.
        (block $c4_done
          (loop $c4
            (br_if $c4_done (i32.gt_s (i32.add (local.get $c) (i32.const 4)) (local.get $cols)))
            (v128.store align=4 (local.get $pd) (v128.load align=4 (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (i32.const 16)))
            (local.set $pd (i32.add (local.get $pd) (i32.const 16)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $c4)))
        (block $c1_done
          (loop $c1
            (br_if $c1_done (i32.ge_s (local.get $c) (local.get $cols)))
            (f32.store (local.get $pd) (f32.load (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (i32.const 4)))
            (local.set $pd (i32.add (local.get $pd) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $c1)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop))))

  ;; dst[c][r] = src[r][c] for r < rows, c < cols (row strides lds, ldd): W -> W^T for the forward
  ;; product, and a transposed weight gradient back to the [out][in] layout.
  (func (export "transpose") (param $src i32) (param $lds i32) (param $rows i32) (param $cols i32) (param $dst i32) (param $ldd i32)
    (local $r i32) (local $c i32) (local $ps i32) (local $pd i32)
    (local.set $lds (i32.shl (local.get $lds) (i32.const 2)))
    (local.set $ldd (i32.shl (local.get $ldd) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $r_done
      (loop $rloop
        (br_if $r_done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $ps (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $lds))))
        (local.set $pd (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
        (local.set $c (i32.const 0))
        (block $c_done
          (loop $cloop
            (br_if $c_done (i32.ge_s (local.get $c) (local.get $cols)))
            (f32.store (local.get $pd) (f32.load (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (i32.const 4)))
            (local.set $pd (i32.add (local.get $pd) (local.get $ldd)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop))))

  ;; Elementwise kernels for compress's TunableMlp (compress/net.ts), which applies activations and
  ;; fake quantization between the products (n % 4 == 0 for all of them: padded buffers).

  ;; dst = src > 0 ? src : 0 (f32x4.pmax(0, v) is exactly that, NaN and -0 included), for the relu
  ;; output kept apart from the pre-activation product.
  (func (export "relu_out") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (v128.store (local.get $dst) (f32x4.pmax (v128.const i32x4 0 0 0 0) (v128.load (local.get $src))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $l))))

  ;; d = z > 0 ? d : 0: the relu gradient gate from the pre-activation.
  (func (export "gate_positive") (param $d i32) (param $z i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
        (v128.store (local.get $d)
          (v128.and (v128.load (local.get $d)) (f32x4.gt (v128.load (local.get $z)) (v128.const i32x4 0 0 0 0))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $z (i32.add (local.get $z) (i32.const 16)))
        (br $l))))

  ;; d &= mask (i32 masks of all ones or zero): the straight-through gate of fake quantization.
  (func (export "gate_mask") (param $d i32) (param $mask i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
        (v128.store (local.get $d) (v128.and (v128.load (local.get $d)) (v128.load (local.get $mask))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $mask (i32.add (local.get $mask) (i32.const 16)))
        (br $l))))

  ;; In place: x = (q - zp) * scale with q = min(max(nearest(x * inv) + zp, lo), hi): fakeQuantActivations
  ;; of quant/fake-quant.ts, bit for bit (each step there is a float32 product or exact integer
  ;; arithmetic below 2^24; nearest is round half to even). mask (when != 0) gets all ones where
  ;; the value was inside [lo, hi], zero where it saturated.
  (func (export "fake_quant")
    (param $x i32) (param $n i32) (param $inv f32) (param $scale f32) (param $zp f32) (param $lo f32) (param $hi f32) (param $mask i32)
    (local $end i32) (local $vinv v128) (local $vs v128) (local $vzp v128) (local $vlo v128) (local $vhi v128) (local $r v128) (local $q v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $vinv (f32x4.splat (local.get $inv)))
    (local.set $vs (f32x4.splat (local.get $scale)))
    (local.set $vzp (f32x4.splat (local.get $zp)))
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $r (f32x4.add (f32x4.nearest (f32x4.mul (v128.load (local.get $x)) (local.get $vinv))) (local.get $vzp)))
        (local.set $q (f32x4.min (f32x4.max (local.get $r) (local.get $vlo)) (local.get $vhi)))
        (if (local.get $mask)
          (then
            (v128.store (local.get $mask) (f32x4.eq (local.get $r) (local.get $q)))
            (local.set $mask (i32.add (local.get $mask) (i32.const 16)))))
        (v128.store (local.get $x) (f32x4.mul (f32x4.sub (local.get $q) (local.get $vzp)) (local.get $vs)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $l))))
)
