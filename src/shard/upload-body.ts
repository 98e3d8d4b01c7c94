// What a CPE uploads for Upload (TR-069 A.4.1.5): a vendor configuration file (its
// writable parameters, one per line) or a vendor log file (syslog-style lines).
import type { CpeView } from '../datamodel/view.js';
import { isoSeconds } from '../datamodel/datetime.js';

export function uploadBody(view: CpeView, fileType: string, now: number): string {
  const id = view.ctx.identity;
  if (/Log File/.test(fileType)) {
    const t = (ago: number) => isoSeconds(now - ago * 1000);
    return [
      `${t(3600)} ${id.serial} kernel: Linux version ${id.softwareVersion}`,
      `${t(1800)} ${id.serial} cwmpd: session with ACS completed`,
      `${t(600)} ${id.serial} dhcpd: lease renewed on LAN`,
      `${t(5)} ${id.serial} cwmpd: upload of ${fileType} requested`,
      '',
    ].join('\n');
  }
  const lines = view.params(undefined).filter((p) => p.node.writable).map((p) => `${p.path}=${view.wireValue(p.node, p.path, p.inst)}`);
  return [`# ${id.manufacturer} ${id.productClass} ${id.serial} configuration, firmware ${id.softwareVersion}`, ...lines, ''].join('\n');
}
