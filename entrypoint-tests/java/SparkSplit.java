import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Runs Spark's own org.apache.spark.launcher.CommandBuilderUtils.parseOptionString (package
 * private, so by reflection) on each input line. Input: one option string a line, as hex of its
 * UTF-8 bytes. Output, a line each: `ok <tok> <tok>...` with every token as hex of its UTF-16
 * code units (4 digits each, so a lone surrogate shows), or `err <exception message>`.
 */
public class SparkSplit {
    public static void main(String[] args) throws Exception {
        Class<?> utils = Class.forName("org.apache.spark.launcher.CommandBuilderUtils");
        Method parse = utils.getDeclaredMethod("parseOptionString", String.class);
        parse.setAccessible(true);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        String line;
        while ((line = in.readLine()) != null) {
            byte[] bytes = new byte[line.length() / 2];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) Integer.parseInt(line.substring(2 * i, 2 * i + 2), 16);
            }
            String input = new String(bytes, StandardCharsets.UTF_8);
            try {
                @SuppressWarnings("unchecked")
                List<String> tokens = (List<String>) parse.invoke(null, input);
                StringBuilder out = new StringBuilder("ok");
                for (String token : tokens) {
                    out.append(' ');
                    if (token.isEmpty()) {
                        out.append('-');
                    }
                    for (int i = 0; i < token.length(); i++) {
                        out.append(String.format("%04x", (int) token.charAt(i)));
                    }
                }
                System.out.println(out);
            } catch (InvocationTargetException e) {
                System.out.println("err " + e.getCause().getMessage());
            }
        }
    }
}
