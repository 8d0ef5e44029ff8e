// DEV ONLY: a 48-column receipt like the CLI's, for the fake backend.

const W = 48;

function amount(q: number): string {
  const s = String(Math.abs(q)).padStart(3, "0");
  return `${q < 0 ? "-" : ""}${s.slice(0, -2)},${s.slice(-2)}`;
}

function row(left: string, right: string): string {
  const room = W - right.length - 1;
  return `${left.slice(0, room).padEnd(room)} ${right}`;
}

function center(s: string): string {
  const pad = Math.max(0, Math.floor((W - s.length) / 2));
  return " ".repeat(pad) + s;
}

export function fakeReceipt(
  shop: string,
  ref: string,
  lines: { name: string; qty: number; total_q: number }[],
  o: { total_q: number; paid_q: number; change_q: number; payments: { method: string; amount_q: number; approved: boolean }[] },
): string {
  const out = [center(shop), center("Rua das Flores, 123"), "-".repeat(W), row(`Order ${ref}`, new Date().toLocaleString("pt-BR")), "-".repeat(W)];
  for (const l of lines) out.push(row(`${l.qty} x ${l.name}`, amount(l.total_q)));
  out.push("-".repeat(W), row("TOTAL R$", amount(o.total_q)));
  for (const p of o.payments) if (p.approved) out.push(row(`  ${p.method}`, amount(p.amount_q)));
  out.push(row("CHANGE", amount(o.change_q)), "-".repeat(W), center("Obrigado pela preferência!"));
  return out.join("\n");
}
