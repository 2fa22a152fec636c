package ledger

import (
	"fmt"
	"math/bits"
)

// The money rules every backend applies inside its fill transaction.
// Amounts are integer cents; nothing here rounds up in the customer's
// disfavour or overflows.

// Notional is quantity x price in cents: what a fill pays or is paid. It
// refuses non-positive inputs and any product above 2^62 cents, so sums of
// a few notionals cannot overflow int64 either.
func Notional(quantity, price int64) (int64, error) {
	if quantity <= 0 || price <= 0 {
		return 0, fmt.Errorf("ledger: fill of %d shares at %d cents", quantity, price)
	}
	hi, lo := bits.Mul64(uint64(quantity), uint64(price))
	if hi != 0 || lo > 1<<62 {
		return 0, fmt.Errorf("ledger: fill of %d shares at %d cents overflows", quantity, price)
	}
	return int64(lo), nil
}

// CostOfSold is the part of a position's cost basis that leaves with sold
// shares: cost x sold / held, rounded down, computed without overflowing
// the product. It needs 0 <= cost and 0 < sold <= held.
func CostOfSold(cost, sold, held int64) int64 {
	hi, lo := bits.Mul64(uint64(cost), uint64(sold))
	q, _ := bits.Div64(hi, lo, uint64(held))
	return int64(q)
}

// Sale is what selling shares from a position leaves of it.
type Sale struct {
	Remaining     int64 // shares still held; 0 means the position is gone
	RemainingCost int64 // their cost basis, cents
}

// SellFrom decides a sale of sold shares from a position of held shares whose
// cost basis is cost: ErrInsufficientShares when fewer are held; otherwise
// the sold shares take their proportional part of the cost basis with them.
func SellFrom(held, cost, sold int64) (Sale, error) {
	if sold <= 0 || held < sold {
		return Sale{}, ErrInsufficientShares
	}
	return Sale{Remaining: held - sold, RemainingCost: cost - CostOfSold(cost, sold, held)}, nil
}
