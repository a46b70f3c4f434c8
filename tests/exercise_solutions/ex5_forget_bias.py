def open_forget_gate(cell):
    H = cell.hidden_size
    cell.bias_ih.data[H : 2 * H] = 3.0  # rows i, f, g, o: f is the second block
    cell.bias_hh.data[H : 2 * H] = 0.0
