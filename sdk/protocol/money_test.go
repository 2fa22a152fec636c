package protocol

import (
	"encoding/json"
	"testing"
)

func TestCentsJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Cents
		out  string
	}{
		{`"1234.50"`, 123450, `"1234.50"`},
		{`"0.05"`, 5, `"0.05"`},
		{`"-3.05"`, -305, `"-3.05"`},
		{`"7"`, 700, `"7.00"`},
		{`"7.5"`, 750, `"7.50"`},
		{`250`, 25000, `"250.00"`},
		{`"100000.00"`, 10000000, `"100000.00"`},
	}
	for _, tt := range tests {
		var c Cents
		if err := json.Unmarshal([]byte(tt.in), &c); err != nil || c != tt.want {
			t.Errorf("%s: got %d, %v; want %d", tt.in, c, err, tt.want)
			continue
		}
		if b, _ := json.Marshal(c); string(b) != tt.out {
			t.Errorf("%s: marshalled %s, want %s", tt.in, b, tt.out)
		}
	}
	for _, bad := range []string{`"1.234"`, `"1e3"`, `"12."`, `""`, `"-"`, `"$5"`, `1.5e2`, `"1 000"`} {
		var c Cents
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s: got %d, want an error", bad, c)
		}
	}
}
