import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TimeZone;

/**
 * Prints what the JVM made of its environment: the default time zone (asking for it, since
 * `user.timezone` stays empty until something does), `sun.jnu.encoding` (how it encodes file
 * names) and whether a file with a non-ASCII name can be created in the folder given.
 */
public class PrintLocale {
    public static void main(String[] args) throws Exception {
        System.out.println("timezone=" + TimeZone.getDefault().getID());
        System.out.println("sun.jnu.encoding=" + System.getProperty("sun.jnu.encoding"));
        System.out.println("file.encoding=" + System.getProperty("file.encoding"));
        try {
            Path file = Path.of(args[0], "r\u00e9sum\u00e9-\u65e5\u672c.txt");
            Files.writeString(file, "x");
            System.out.println("non-ascii-file=created");
        } catch (java.nio.file.InvalidPathException e) {
            System.out.println("non-ascii-file=InvalidPathException");
        }
    }
}
