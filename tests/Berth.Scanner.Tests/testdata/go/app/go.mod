module example.com/app

go 1.19

require (
	example.com/local v0.0.0
	github.com/acme/net v1.0.0
	golang.org/x/text v0.3.5
)

replace github.com/acme/net v1.0.0 => golang.org/x/net v0.0.0-20210220033148-5ea612d1eb83

replace example.com/local => ./local
