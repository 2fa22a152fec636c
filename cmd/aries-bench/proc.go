package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a server process the bench started: Aries or the floor.
type proc struct {
	name  string
	cmd   *exec.Cmd
	addr  string // host:port it serves on
	pprof string // host:port of its profiling endpoint
	log   *os.File
	done  chan error
}

// buildAries compiles the aries command of this module into dir.
func buildAries(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "aries")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ariesexchange/aries/cmd/aries")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/aries: %w (run aries-bench inside the Aries repository, or pass -aries)", err)
	}
	return bin, nil
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs cmd and waits until it prints a line starting with ready,
// followed by its listen address. Everything else it prints goes to
// logPath.
func start(name string, cmd *exec.Cmd, ready, logPath string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	cmd.Stderr = logf
	// Its own process group, so an interrupted bench does not leave it
	// behind with the terminal's signal alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logf, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			fmt.Fprintln(logf, lines.Text())
			if rest, ok := strings.CutPrefix(lines.Text(), ready); ok {
				a, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
				select {
				case addr <- a:
				default:
				}
			}
		}
		io.Copy(logf, out)
		p.done <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		p.addr = a
		return p, nil
	case err := <-p.done:
		logf.Close()
		return nil, fmt.Errorf("%s exited before listening (%v); see %s", name, err, logPath)
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not listen within 60s; see %s", name, logPath)
	}
}

// stop sends SIGTERM and waits for a graceful exit, killing after 20s.
func (p *proc) stop() error {
	defer p.log.Close()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s: %v", p.name, err)
		}
		return nil
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within 20s", p.name)
	}
}

// resetPeak sets the process's peak resident set size back to its current
// size (proc(5), /proc/PID/clear_refs), so the next reading is the peak of
// one measurement. Without permission the peak stays the process's
// lifetime peak, which can only overstate.
func (p *proc) resetPeak() {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0)
}

// peakRSS returns VmHWM from /proc/PID/status in bytes, or 0 where that
// file does not exist.
func (p *proc) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cpuTime returns the user plus system CPU time the process has used
// (proc(5), /proc/PID/stat fields 14 and 15, in clock ticks of 1/100 s),
// or 0 where that file does not exist.
func (p *proc) cpuTime() time.Duration {
	return cpuTimeOf(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
}

func cpuTimeOf(statPath string) time.Duration {
	b, err := os.ReadFile(statPath)
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b)[i+1:])
	// f[0] is field 3 (state), so utime and stime are f[11] and f[12].
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
