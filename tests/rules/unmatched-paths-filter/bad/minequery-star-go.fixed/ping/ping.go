package ping
