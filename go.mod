module github.com/rankr/rankr

go 1.26

require (
	github.com/alecthomas/kong v1.17.0
	github.com/willabides/kongplete v0.4.0
)

require (
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/posener/complete v1.2.3 // indirect
	github.com/riywo/loginshell v0.0.0-20200815045211-7d26008be1ab // indirect
	github.com/stretchr/testify v1.9.0 // indirect
)
