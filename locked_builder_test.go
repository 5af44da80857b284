package ftpserver

import (
	"strings"
	"sync"
)

// lockedBuilder is a strings.Builder that a process's output may be copied into while a test
// reads it: the bundled server writes a log line per transfer to its stderr.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()

	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()

	return l.b.String()
}
