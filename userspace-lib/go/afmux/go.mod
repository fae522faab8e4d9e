module afmux.org/afmux

go 1.19
