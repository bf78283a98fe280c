// Python's strftime for the directives chat templates use: transformers gives templates
// strftime_now(format) = datetime.now().strftime(format), local time, C locale (English names).
// @huggingface/jinja's own knows only %Y %m %d %b %B %H %M and names months in the host's locale.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * `format` with %a %A %b %B %d %e %H %I %j %m %M %p %S %y %Y %% filled in from `date`; a '-' after the
 * '%' drops the zero padding (glibc's %-d, which Linux Python passes through). Unknown directives stay as written.
 */
export function strftime(date: Date, format: string): string {
  return format.replace(/%(-?)([a-zA-Z%])/g, (all, unpadded: string, d: string) => {
    const num = (n: number, width = 2) => (unpadded ? String(n) : String(n).padStart(width, '0'));
    switch (d) {
      case 'a': return DAYS[date.getDay()].slice(0, 3);
      case 'A': return DAYS[date.getDay()];
      case 'b': return MONTHS[date.getMonth()].slice(0, 3);
      case 'B': return MONTHS[date.getMonth()];
      case 'd': return num(date.getDate());
      case 'e': return unpadded ? String(date.getDate()) : String(date.getDate()).padStart(2, ' ');
      case 'H': return num(date.getHours());
      case 'I': return num(date.getHours() % 12 || 12);
      case 'j': return num(dayOfYear(date), 3);
      case 'm': return num(date.getMonth() + 1);
      case 'M': return num(date.getMinutes());
      case 'p': return date.getHours() < 12 ? 'AM' : 'PM';
      case 'S': return num(date.getSeconds());
      case 'y': return num(date.getFullYear() % 100);
      case 'Y': return String(date.getFullYear());
      case '%': return '%';
      default: return all;
    }
  });
}

/** 1 for January 1st (local time); days counted in UTC so a daylight-saving change does not shift them. */
function dayOfYear(date: Date): number {
  return (Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()) - Date.UTC(date.getFullYear(), 0, 1)) / 86_400_000 + 1;
}
