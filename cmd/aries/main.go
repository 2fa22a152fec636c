// Command aries is the Aries authorization platform: one binary that serves
// the authorization server, its hosted pages and the protected API
// (`aries serve`), and manages users, clients and signing keys from the
// command line. Every command reads the same store flags; every listing
// command prints JSON with --json. docs/protocol.md#command-line is the
// contract.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit status.
// Errors go to stderr, one line, and give status 1.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := newCommand(stdin, stdout, stderr)
	if err := cmd.Run(ctx, args); err != nil {
		if _, logged := err.(loggedError); !logged {
			fmt.Fprintf(stderr, "aries: %v\n", err)
		}
		return 1
	}
	return 0
}
