package split

import (
	"math"
	"math/rand/v2"
	"testing"
)

// brute enumerates every partition of n nodes into k non-empty
// consecutive stages and returns the best (largest stage cost, then total
// transfer) pair.
func brute(n, k int, cost, tr func(i, j int) float64) (float64, float64) {
	bestMax, bestTr := math.Inf(1), math.Inf(1)
	cuts := make([]int, k+1)
	cuts[k] = n
	var rec func(s, start int)
	rec = func(s, start int) {
		if s == k-1 {
			var mx, t float64
			cuts[s] = start
			for x := 0; x < k; x++ {
				mx = math.Max(mx, cost(cuts[x], cuts[x+1]))
				t += tr(cuts[x], cuts[x+1])
			}
			if mx < bestMax || mx == bestMax && t < bestTr {
				bestMax, bestTr = mx, t
			}
			return
		}
		cuts[s] = start
		for next := start + 1; next <= n-(k-1-s); next++ {
			rec(s+1, next)
		}
	}
	rec(0, 0)
	return bestMax, bestTr
}

// TestPartitionExact compares the dynamic programme with exhaustive
// search on random costs (integers, so ties are common) and random
// transfer weights of each possible stage.
func TestPartitionExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(9)
		k := 1 + rng.IntN(n)
		c := make([]float64, n)
		for i := range c {
			c[i] = float64(rng.IntN(5))
		}
		trm := make([][]float64, n+1)
		for i := range trm {
			trm[i] = make([]float64, n+1)
			for j := range trm[i] {
				trm[i][j] = float64(rng.IntN(7))
			}
		}
		costRow := prefixRow(c)
		trRow := func(i int, row []float64) {
			for j := i + 1; j <= n; j++ {
				row[j] = trm[i][j]
			}
		}
		cost := func(i, j int) float64 {
			var s float64
			for _, x := range c[i:j] {
				s += x
			}
			return s
		}
		cuts, bound := partition(n, k, costRow, trRow)
		wantMax, wantTr := brute(n, k, cost, func(i, j int) float64 { return trm[i][j] })
		if bound != wantMax {
			t.Fatalf("trial %d (n=%d k=%d costs %v): bound %v, exhaustive %v", trial, n, k, c, bound, wantMax)
		}
		var mx, tr float64
		for s := 0; s < k; s++ {
			if cuts[s+1] <= cuts[s] {
				t.Fatalf("trial %d: empty or reversed stage in %v", trial, cuts)
			}
			mx = math.Max(mx, cost(cuts[s], cuts[s+1]))
			tr += trm[cuts[s]][cuts[s+1]]
		}
		if cuts[0] != 0 || cuts[k] != n || mx != wantMax || tr != wantTr {
			t.Fatalf("trial %d (n=%d k=%d): cuts %v give (%v, %v), exhaustive best (%v, %v)", trial, n, k, cuts, mx, tr, wantMax, wantTr)
		}
	}
}

// TestFewestStages checks the greedy count against exhaustive search.
func TestFewestStages(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(8)
		c := make([]float64, n)
		for i := range c {
			c[i] = float64(1 + rng.IntN(6))
		}
		limit := float64(3 + rng.IntN(10))
		k, _ := fewestStages(n, prefixRow(c), limit)
		want := -1
		for kk := 1; kk <= n && want < 0; kk++ {
			if m, _ := brute(n, kk, func(i, j int) float64 {
				var s float64
				for _, x := range c[i:j] {
					s += x
				}
				return s
			}, func(int, int) float64 { return 0 }); m <= limit {
				want = kk
			}
		}
		if k != want {
			t.Fatalf("trial %d: costs %v limit %v: %d stages, exhaustive %d", trial, c, limit, k, want)
		}
	}
}
