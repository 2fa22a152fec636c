package sandbox

import "hash/fnv"

// Simulated prices lie in [minPrice, maxPrice] cents.
const (
	minPrice = 10_00
	maxPrice = 500_00
)

// Price is the simulated price of symbol, in cents: FNV-1a (64-bit) of the
// symbol, reduced to between $10.00 and $500.00 (AAPL is $134.57). It is
// stable across processes and releases, so fills are predictable.
func Price(symbol string) int64 {
	h := fnv.New64a()
	h.Write([]byte(symbol))
	return minPrice + int64(h.Sum64()%(maxPrice-minPrice+1))
}
