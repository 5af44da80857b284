module github.com/ftpkit/ftpserver/bench/fsl

go 1.25.0

require (
	github.com/fclairamb/ftpserverlib v0.32.3
	github.com/spf13/afero v1.15.0
)

require (
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
