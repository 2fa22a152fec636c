module github.com/ariesexchange/aries/sdk

go 1.26.0

require github.com/go-jose/go-jose/v4 v4.1.8

require golang.org/x/oauth2 v0.37.0
