package protocol

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Cents is an amount of money in cents. On the wire it is a decimal string
// with two places ("1234.50", "-3.05"), so no amount ever passes through a
// float; a JSON number is read too.
type Cents int64

// Dollars returns whole dollars and cents as Cents: Dollars(12, 50) is
// $12.50.
func Dollars(dollars, cents int64) Cents { return Cents(dollars*100 + cents) }

func (c Cents) String() string {
	sign, v := "", int64(c)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

func (c Cents) MarshalJSON() ([]byte, error) { return []byte(`"` + c.String() + `"`), nil }

func (c *Cents) UnmarshalJSON(b []byte) error {
	s := string(b)
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	}
	v, err := ParseCents(s)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

var errAmount = errors.New(`protocol: an amount is a decimal with at most two places, such as "150.25"`)

// ParseCents reads [-]DIGITS[.D[D]].
func ParseCents(s string) (Cents, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 15 || len(frac) > 2 || (hasFrac && frac == "") {
		return 0, errAmount
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, errAmount
		}
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	v := w*100 + f
	if neg {
		v = -v
	}
	return Cents(v), nil
}
