import java.nio.charset.StandardCharsets;

/** Prints `name=<hex of the UTF-8 bytes>` (or `name=null`) for each system property named. */
public class PrintProps {
    public static void main(String[] args) {
        for (String name : args) {
            String value = System.getProperty(name);
            if (value == null) {
                System.out.println(name + "=null");
                continue;
            }
            StringBuilder hex = new StringBuilder();
            for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
                hex.append(String.format("%02x", b & 0xff));
            }
            System.out.println(name + "=" + hex);
        }
    }
}
