package ledger

import (
	"math"
	"testing"
)

func TestNotional(t *testing.T) {
	tests := []struct {
		quantity, price int64
		want            int64
		ok              bool
	}{
		{10, 13457, 134570, true},
		{1, 1, 1, true},
		{0, 100, 0, false},
		{10, -1, 0, false},
		{math.MaxInt64, 2, 0, false},
		{1 << 31, 1 << 31, 1 << 62, true},
		{1<<31 + 1, 1 << 31, 0, false},
	}
	for _, tt := range tests {
		got, err := Notional(tt.quantity, tt.price)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Notional(%d, %d) = %d, %v; want %d, ok %v", tt.quantity, tt.price, got, err, tt.want, tt.ok)
		}
	}
}

func TestCostOfSold(t *testing.T) {
	tests := []struct{ cost, sold, held, want int64 }{
		{1000, 1, 3, 333}, // rounded down: the rest stays with the shares held
		{1000, 3, 3, 1000},
		{0, 1, 2, 0},
		{math.MaxInt64 / 2, 7, 7, math.MaxInt64 / 2}, // the product would overflow int64
	}
	for _, tt := range tests {
		if got := CostOfSold(tt.cost, tt.sold, tt.held); got != tt.want {
			t.Errorf("CostOfSold(%d, %d, %d) = %d, want %d", tt.cost, tt.sold, tt.held, got, tt.want)
		}
	}
}

func TestSellFrom(t *testing.T) {
	tests := []struct {
		held, cost, sold int64
		want             Sale
		err              error
	}{
		{3, 1000, 1, Sale{2, 667}, nil},
		{3, 1000, 3, Sale{0, 0}, nil},
		{3, 1000, 4, Sale{}, ErrInsufficientShares},
		{0, 0, 1, Sale{}, ErrInsufficientShares},
	}
	for _, tt := range tests {
		got, err := SellFrom(tt.held, tt.cost, tt.sold)
		if got != tt.want || err != tt.err {
			t.Errorf("SellFrom(%d, %d, %d) = %+v, %v; want %+v, %v", tt.held, tt.cost, tt.sold, got, err, tt.want, tt.err)
		}
	}
}
