module github.com/ftpkit/ftpserver

go 1.25.0
