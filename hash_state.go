package ftpserver

// The hash state a session keeps between commands: the algorithm HASH uses (OPTS HASH) and the
// byte range RANG sets for the next one. The commands are in handle_hash.go.

// defaultHashAlgo is what HASH uses until OPTS HASH changes it: the draft (section 5) asks for
// no default weaker than SHA-1.
const defaultHashAlgo = HASHAlgoSHA256

// byteRange is a RANG range: both offsets are included (draft-bryan-ftp-range-08 3).
type byteRange struct {
	start, last int64
}
